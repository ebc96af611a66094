// Photos shrink on the phone before they travel: long side at most 2560 px, JPEG, upright
// (a 12 MP camera photo goes from ~5 MB to a few hundred KB on a weak network).
import { newKey, type Schemas } from '../../api/client'
import { authHeaders, checkAnswer } from './session'

export const MAX_SIDE = 2560
const QUALITY = 0.85

async function decode(file: Blob): Promise<ImageBitmap | HTMLImageElement> {
  if ('createImageBitmap' in window) {
    try {
      return await createImageBitmap(file, { imageOrientation: 'from-image' })
    } catch {
      // older Safari refuses the options: fall back to an <img>, which browsers turn upright
    }
  }
  const url = URL.createObjectURL(file)
  try {
    const img = new Image()
    img.src = url
    await img.decode()
    return img
  } finally {
    URL.revokeObjectURL(url)
  }
}

/** The photo re-encoded as JPEG with its long side ≤ 2560 px. */
export async function shrinkPhoto(file: Blob): Promise<Blob> {
  const image = await decode(file)
  const width = 'naturalWidth' in image ? image.naturalWidth : image.width
  const height = 'naturalHeight' in image ? image.naturalHeight : image.height
  const scale = Math.min(1, MAX_SIDE / Math.max(width, height))
  const canvas = document.createElement('canvas')
  canvas.width = Math.round(width * scale)
  canvas.height = Math.round(height * scale)
  const context = canvas.getContext('2d')
  if (!context) throw new Error('canvas unavailable')
  context.drawImage(image, 0, 0, canvas.width, canvas.height)
  if ('close' in image) image.close()
  return new Promise((resolve, reject) => {
    canvas.toBlob(
      (blob) => (blob ? resolve(blob) : reject(new Error('encode failed'))),
      'image/jpeg',
      QUALITY,
    )
  })
}

export class UploadFailed extends Error {}

/** Upload one shrunk photo through the authenticated /api/v1/media; `key` is kept by the
 * caller for this photo until it succeeds, so a retry after a lost answer is the same upload. */
export async function uploadPhoto(photo: Blob, key: string = newKey()): Promise<Schemas['Media']> {
  const form = new FormData()
  form.append('file', photo, 'photo.jpg')
  let response: Response
  try {
    response = await fetch('/api/v1/media', {
      method: 'POST',
      headers: { ...authHeaders(), 'Idempotency-Key': key },
      body: form,
    })
  } catch {
    throw new UploadFailed('网络不可用，请稍后重试')
  }
  await checkAnswer(response)
  const body = (await response.json().catch(() => null)) as
    | Schemas['Media']
    | Schemas['Error']
    | null
  if (response.ok && body && 'sha256' in body) return body
  throw new UploadFailed(body && 'message' in body ? body.message : `上传失败（${response.status}）`)
}
