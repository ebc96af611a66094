// Photo uploads with progress: fetch cannot report upload progress, so one typed
// XMLHttpRequest. The path and answer types come from the same generated schema.
import type { paths } from './schema'
import type { ApiError } from './client'

type ScanMediaPost = paths['/api/v1/scan/{token}/media']['post']
export type ScanMedia = ScanMediaPost['responses'][201]['content']['application/json']

/** An upload that got no answer (network gone, dropped): safe to send again. */
export class NetworkError extends Error {}

/** An upload the server refused, with its answer in our error shape. */
export class RefusedError extends Error {
  constructor(readonly answer: ApiError) {
    super(answer.message)
  }
}

export function uploadScanPhoto(
  token: string,
  photo: Blob,
  uploadToken: string | null,
  onProgress: (fraction: number) => void,
): Promise<ScanMedia> {
  const form = new FormData()
  form.append('file', photo, 'photo.jpg')
  if (uploadToken) form.append('upload_token', uploadToken)
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open('POST', `/api/v1/scan/${encodeURIComponent(token)}/media`)
    xhr.responseType = 'json'
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total)
    }
    xhr.onload = () => {
      if (xhr.status === 201) resolve(xhr.response as ScanMedia)
      else if (xhr.response && typeof xhr.response === 'object' && 'code' in xhr.response)
        reject(new RefusedError(xhr.response as ApiError))
      else reject(new NetworkError(`HTTP ${xhr.status}`))
    }
    xhr.onerror = () => reject(new NetworkError('network'))
    xhr.ontimeout = () => reject(new NetworkError('timeout'))
    xhr.send(form)
  })
}
