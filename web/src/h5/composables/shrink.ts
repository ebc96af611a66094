// Photos shrink on the phone before they travel: upright (EXIF orientation applied),
// long side at most 2560 px, JPEG, and small enough for a weak network.
export const MAX_SIDE = 2560
export const TARGET_BYTES = 800 * 1024
const QUALITIES = [0.82, 0.72, 0.62, 0.5]
const PREVIEW_SIDE = 160

export interface Shrunk {
  blob: Blob
  preview: string // a small data: URL, kept with the draft so a reload still shows the photo
  width: number
  height: number
}

/** Decode upright: createImageBitmap applies the EXIF orientation when asked; browsers
 * without that option decode through an <img>, which applies it by default. */
async function decode(file: Blob): Promise<ImageBitmap | HTMLImageElement> {
  if (typeof createImageBitmap === 'function') {
    try {
      return await createImageBitmap(file, { imageOrientation: 'from-image' })
    } catch {
      // fall through to <img>
    }
  }
  const url = URL.createObjectURL(file)
  try {
    const image = new Image()
    image.decoding = 'async'
    image.src = url
    await image.decode()
    return image
  } finally {
    URL.revokeObjectURL(url)
  }
}

function draw(source: CanvasImageSource, width: number, height: number) {
  const canvas = document.createElement('canvas')
  canvas.width = width
  canvas.height = height
  const context = canvas.getContext('2d')
  if (!context) throw new Error('canvas unavailable')
  // JPEG has no transparency: a transparent PNG's clear pixels would turn black. Paper is
  // white, and so is the phone's gallery behind such a picture.
  context.fillStyle = '#fff'
  context.fillRect(0, 0, width, height)
  context.imageSmoothingQuality = 'high'
  context.drawImage(source, 0, 0, width, height)
  return canvas
}

function toBlob(canvas: HTMLCanvasElement, quality: number): Promise<Blob> {
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('encode'))), 'image/jpeg', quality),
  )
}

function fit(width: number, height: number, side: number): [number, number] {
  const scale = Math.min(1, side / Math.max(width, height))
  return [Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale))]
}

export async function shrink(file: Blob): Promise<Shrunk> {
  const source = await decode(file)
  const [width, height] = fit(source.width, source.height, MAX_SIDE)
  const canvas = draw(source, width, height)
  let blob = await toBlob(canvas, QUALITIES[0])
  for (const quality of QUALITIES.slice(1)) {
    if (blob.size <= TARGET_BYTES) break
    blob = await toBlob(canvas, quality)
  }
  const [pw, ph] = fit(width, height, PREVIEW_SIDE)
  const preview = draw(canvas, pw, ph).toDataURL('image/jpeg', 0.7)
  if ('close' in source) source.close()
  canvas.width = canvas.height = 0 // frees the bitmap memory at once on iOS
  return { blob, preview, width, height }
}
