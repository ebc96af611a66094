// The Idempotency-Key of one form submission: kept while the same request is sent again (a
// lost answer retried, a second click), so the API answers it once; a new key once it
// succeeded or the form says something else (the API refuses one key for two requests).
import { newKey } from '../api/client'

export interface SubmissionKey {
  /** The key for this request: the last one while the request is unchanged. */
  keyFor: (request: unknown) => string
  /** The submission succeeded: the next one gets a new key. */
  done: () => void
}

export function submissionKey(): SubmissionKey {
  let key: string | null = null
  let sent = ''
  return {
    keyFor(request: unknown): string {
      const text = JSON.stringify(request)
      if (key === null || text !== sent) {
        key = newKey()
        sent = text
      }
      return key
    },
    done(): void {
      key = null
    },
  }
}
