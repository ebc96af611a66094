import { reactive } from 'vue'
import { NetworkError, RefusedError, uploadScanPhoto } from '../../api/upload'
import { shrink } from './shrink'
import type { DraftPhoto } from './draft'

export type PhotoStatus = 'shrinking' | 'uploading' | 'done' | 'failed'

export interface Photo {
  local: number
  preview: string
  status: PhotoStatus
  progress: number // 0..100
  mediaId: number | null
  blob: Blob | null // kept until uploaded: a retry sends the very same bytes
  error: string
}

export const MAX_PHOTOS = 9

/** The photos of one report: shrunk on the phone, uploaded one at a time (a weak network
 * carries one well rather than nine badly), each retried with the same bytes and the same
 * scan session, which the server answers with the same row. */
export function usePhotos(token: string, uploadToken: () => string, onUploaded: () => void) {
  const photos = reactive<Photo[]>([])
  let counter = 0
  let queue: Promise<void> = Promise.resolve()

  function restore(kept: DraftPhoto[]) {
    for (const photo of kept) {
      photos.push({
        local: ++counter,
        preview: photo.preview,
        status: 'done',
        progress: 100,
        mediaId: photo.mediaId,
        blob: null,
        error: '',
      })
    }
  }

  function find(local: number): Photo | undefined {
    return photos.find((photo) => photo.local === local)
  }

  async function send(local: number) {
    const photo = find(local)
    if (!photo || !photo.blob) return
    photo.status = 'uploading'
    photo.progress = 0
    photo.error = ''
    try {
      const answer = await uploadScanPhoto(token, photo.blob, uploadToken(), (fraction) => {
        const current = find(local)
        if (current) current.progress = Math.min(99, Math.round(fraction * 100))
      })
      const current = find(local)
      if (!current) return // removed meanwhile
      current.mediaId = answer.id
      current.status = 'done'
      current.progress = 100
      current.blob = null
      onUploaded()
    } catch (error) {
      const current = find(local)
      if (!current) return
      current.status = 'failed'
      current.error = error instanceof RefusedError ? error.answer.message : ''
      if (error instanceof RefusedError && !['rate_limited', 'storage_unavailable'].includes(error.answer.code)) {
        current.blob = null // refused for what it is: sending it again cannot help
      } else if (!(error instanceof NetworkError) && !(error instanceof RefusedError)) {
        throw error
      }
    }
  }

  function enqueue(local: number) {
    queue = queue.then(() => send(local)).catch(() => undefined)
  }

  async function add(files: File[]) {
    for (const file of files.slice(0, MAX_PHOTOS - photos.length)) {
      const local = ++counter
      photos.push({
        local,
        preview: '',
        status: 'shrinking',
        progress: 0,
        mediaId: null,
        blob: null,
        error: '',
      })
      try {
        const shrunk = await shrink(file)
        const photo = find(local)
        if (!photo) continue
        photo.preview = shrunk.preview
        photo.blob = shrunk.blob
        enqueue(local)
      } catch {
        const photo = find(local)
        if (photo) {
          photo.status = 'failed'
          photo.error = '无法读取该图片'
        }
      }
    }
  }

  function retry(local: number) {
    const photo = find(local)
    if (photo && photo.status === 'failed' && photo.blob) enqueue(local)
  }

  /** Send again every photo a lost network stopped (called when the phone is back online). */
  function retryAll() {
    for (const photo of photos) if (photo.status === 'failed' && photo.blob) enqueue(photo.local)
  }

  function remove(local: number) {
    const index = photos.findIndex((photo) => photo.local === local)
    if (index >= 0) photos.splice(index, 1)
  }

  function clear() {
    photos.splice(0)
  }

  function kept(): DraftPhoto[] {
    return photos
      .filter((photo) => photo.status === 'done' && photo.mediaId !== null)
      .map((photo) => ({ mediaId: photo.mediaId as number, preview: photo.preview }))
  }

  return { photos, add, retry, retryAll, remove, restore, clear, kept }
}
