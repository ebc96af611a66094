// Files the API serves to logged-in callers only (documents, exports, posters): a plain link
// cannot carry the Authorization header, and a token in a URL would leak into logs and
// history, so they are fetched with the header and saved under the server's own name.
import type { Schemas } from './client'

type Job = Schemas['Job']
type JobResult = Schemas['JobResult']

/** The file name of a Content-Disposition header (RFC 6266: filename* first), else `fallback`. */
export function dispositionName(disposition: string | null, fallback: string): string {
  const utf8 = disposition?.match(/filename\*=UTF-8''([^;]+)/i)
  if (utf8) {
    try {
      return decodeURIComponent(utf8[1])
    } catch {
      // a malformed escape: fall through to the plain name
    }
  }
  const plain = disposition?.match(/filename="?([^";]+)"?/i)
  return plain ? plain[1] : fallback
}

/** Hands bytes to the browser's download, named `name`. */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob)
  const link = document.createElement('a')
  link.href = url
  link.download = name
  document.body.appendChild(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(url), 60_000)
}

/** The API's error answer of a failed request (our one shape), else an Error with its status. */
async function failure(response: Response): Promise<unknown> {
  const body = await response.json().catch(() => null)
  return body ?? new Error(`HTTP ${response.status}`)
}

/** Downloads `path` with `headers` and saves it under the server's name. Long work answers
 * 202 with a job instead of the file: that job is returned, nothing is saved. Throws the
 * API's error answer on failure. */
export async function downloadFile(
  path: string,
  headers: Record<string, string>,
  fallback: string,
): Promise<Job | null> {
  const response = await fetch(path, { headers })
  if (response.status === 202) return (await response.json()) as Job
  if (!response.ok) throw await failure(response)
  saveBlob(await response.blob(), dispositionName(response.headers.get('Content-Disposition'), fallback))
  return null
}

/** Whether a job result's link is on our own origin (local storage's signed links), where
 * the page may fetch it; object storage's presigned links are elsewhere. */
function ownOrigin(url: string): boolean {
  return new URL(url, window.location.href).origin === window.location.origin
}

/** Fetches a finished job's result by its signed link (the link is the credential: no
 * Authorization header goes with it, to us or to object storage). */
export async function fetchResult(result: JobResult): Promise<Blob> {
  const response = await fetch(result.url, { credentials: 'omit', referrerPolicy: 'no-referrer' })
  if (!response.ok) throw await failure(response)
  return response.blob()
}

/** Saves a finished job's file under its name. A link on another origin (object storage)
 * cannot be fetched under our CSP: the browser opens it, without our page as referrer. */
export async function saveResult(result: JobResult): Promise<void> {
  if (ownOrigin(result.url)) return saveBlob(await fetchResult(result), result.name)
  const link = document.createElement('a')
  link.href = result.url
  link.download = result.name
  link.target = '_blank'
  link.rel = 'noopener noreferrer'
  document.body.appendChild(link)
  link.click()
  link.remove()
}
