// Who is logged in: the token and user of the password login, kept for this browser tab
// (sessionStorage: closing the tab logs out, as a shared office computer needs).
import { reactive } from 'vue'
import { api, type Schemas } from '../api/client'

type User = Schemas['User']

const KEY = 'mashangcha.console'

interface Stored {
  token: string
  user: User
}

function load(): Stored | null {
  try {
    const raw = sessionStorage.getItem(KEY)
    return raw ? (JSON.parse(raw) as Stored) : null
  } catch {
    return null
  }
}

export const session = reactive<{ token: string | null; user: User | null }>({
  token: load()?.token ?? null,
  user: load()?.user ?? null,
})

export function remember(token: string, user: User): void {
  session.token = token
  session.user = user
  sessionStorage.setItem(KEY, JSON.stringify({ token, user }))
}

export function forget(): void {
  session.token = null
  session.user = null
  sessionStorage.removeItem(KEY)
}

let onExpired: () => void = () => {}

/** What to do when the API says the token is no longer good (back to the login). */
export function whenExpired(handler: () => void): void {
  onExpired = handler
}

/** An answer that says the token is no longer good ends the session (for calls made
 * without the typed client too: downloads). */
export function checkAnswer(response: Response): void {
  if (response.status === 401 && session.token) {
    forget()
    onExpired()
  }
}

// Every call carries the token; a 401 ends the session.
api.use({
  onRequest({ request }) {
    if (session.token) request.headers.set('Authorization', `Bearer ${session.token}`)
    return request
  },
  onResponse({ response }) {
    checkAnswer(response)
    return response
  },
})

/** A file upload's body for the typed client, sent as multipart form data: the schema types
 * a file as `string` (OpenAPI's `format: binary`), the page hands a File. Going through the
 * client, an upload carries the token and a 401 ends the session as every other call. */
export function multipart(body: object): FormData {
  const form = new FormData()
  for (const [name, value] of Object.entries(body)) {
    if (value !== undefined && value !== null) form.append(name, value instanceof Blob ? value : String(value))
  }
  return form
}

/** A File where the schema says `format: binary` (typed `string`); see `multipart`. */
export function binary(file: Blob): string {
  return file as unknown as string
}

/** The headers of a call made without the typed client (downloads). */
export function authHeaders(): Record<string, string> {
  return session.token ? { Authorization: `Bearer ${session.token}` } : {}
}
