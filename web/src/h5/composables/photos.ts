import { reactive } from 'vue'
import { NetworkError, RefusedError, uploadScanPhoto } from '../../api/upload'
import { shrink } from './shrink'
import type { DraftPhoto } from './draft'
import { t } from '../messages'

export type PhotoStatus = 'shrinking' | 'uploading' | 'done' | 'failed'

export interface Photo {
  local: number
  preview: string
  status: PhotoStatus
  progress: number // 0..100
  mediaId: number | null
  blob: Blob | null // kept until uploaded: a retry sends the very same bytes
  error: string // why it failed, in Chinese (shown under the photos)
  source: string // the picked file (name, size, time): the same file picked again is known
}

export const MAX_PHOTOS = 9

/** The photos of one report: shrunk on the phone, uploaded one at a time (a weak network
 * carries one well rather than nine badly), each retried with the same bytes and the same
 * scan session, which the server answers with the same row. */
export function usePhotos(
  token: string,
  uploadToken: () => string,
  onUploaded: () => void,
  onNotice: (message: string) => void,
) {
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
        source: '',
      })
    }
  }

  function find(local: number): Photo | undefined {
    return photos.find((photo) => photo.local === local)
  }

  function sourceOf(file: File): string {
    return `${file.name}|${file.size}|${file.lastModified}`
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
      if (photos.some((other) => other.local !== local && other.mediaId === answer.id)) {
        // The same picture under another name (the server knows it by its bytes): one
        // report holds a photo once, so this tile goes and the user is told why.
        remove(local)
        onNotice(t.report.duplicate)
        return
      }
      current.mediaId = answer.id
      current.status = 'done'
      current.progress = 100
      current.blob = null
      onUploaded()
    } catch (error) {
      const current = find(local)
      if (!current) return
      current.status = 'failed'
      if (error instanceof RefusedError && !['rate_limited', 'storage_unavailable'].includes(error.answer.code)) {
        current.blob = null // refused for what it is: sending it again cannot help
        current.error = `${error.answer.message}${t.report.removeIt}`
      } else if (error instanceof RefusedError) {
        current.error = `${error.answer.message}${t.report.retryIt}`
      } else if (error instanceof NetworkError) {
        current.error = t.report.uploadOffline
      } else {
        current.error = t.report.unreadable
        throw error
      }
    }
  }

  function enqueue(local: number) {
    queue = queue.then(() => send(local)).catch(() => undefined)
  }

  /** Add picked files: a file already among the photos is left out, and so is every file
   * past the ninth photo; the user is told of both. */
  async function add(files: File[]) {
    const fresh: File[] = []
    let repeated = 0
    for (const file of files) {
      const source = sourceOf(file)
      if (photos.some((photo) => photo.source === source) || fresh.some((f) => sourceOf(f) === source))
        repeated += 1
      else fresh.push(file)
    }
    const room = Math.max(0, MAX_PHOTOS - photos.length)
    const notes: string[] = []
    if (repeated) notes.push(t.report.duplicate)
    if (fresh.length > room) notes.push(t.report.tooMany(MAX_PHOTOS, fresh.length - room))
    if (notes.length) onNotice(notes.join('；'))
    for (const file of fresh.slice(0, room)) {
      const local = ++counter
      photos.push({
        local,
        preview: '',
        status: 'shrinking',
        progress: 0,
        mediaId: null,
        blob: null,
        error: '',
        source: sourceOf(file),
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
          photo.error = t.report.unreadable
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
    const seen = new Set<number>()
    return photos
      .filter((photo) => photo.status === 'done' && photo.mediaId !== null)
      .filter((photo) => !seen.has(photo.mediaId as number) && !!seen.add(photo.mediaId as number))
      .map((photo) => ({ mediaId: photo.mediaId as number, preview: photo.preview }))
  }

  return { photos, add, retry, retryAll, remove, restore, clear, kept }
}
