// The staff login: the access token and the user it belongs to, kept in localStorage so a
// phone that reloads or reopens the page stays logged in until the token expires.
import { computed, ref } from 'vue'
import { api, type Schemas } from '../../api/client'

const STORAGE_KEY = 'mashangcha.staff'

export type StaffUser = Schemas['User']
interface Stored {
  token: string
  user: StaffUser
}

function load(): Stored | null {
  try {
    const raw = localStorage.getItem(STORAGE_KEY)
    return raw ? (JSON.parse(raw) as Stored) : null
  } catch {
    return null // storage disabled (private mode) or damaged: not logged in
  }
}

const stored = ref<Stored | null>(load())

export const staffUser = computed(() => stored.value?.user ?? null)
export const loggedIn = computed(() => stored.value !== null)
/** Logged in with a one-time password: every page but changing it is closed. */
export const mustChangePassword = computed(() => stored.value?.user.must_change_password === true)

/** Keep a successful login's token and user. */
export function keepLogin(token: string, user: StaffUser): void {
  stored.value = { token, user }
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(stored.value))
  } catch {
    // storage disabled: the login lasts as long as the page
  }
}

/** Forget the login (log out, or the token no longer works). */
export function forgetLogin(): void {
  stored.value = null
  try {
    localStorage.removeItem(STORAGE_KEY)
  } catch {
    // nothing kept
  }
}

/** The Authorization header of the logged-in staff member (empty when logged out). */
export function authHeaders(): Record<string, string> {
  return stored.value ? { Authorization: `Bearer ${stored.value.token}` } : {}
}

let onLoginLost: (reason: string) => void = () => {}

/** What to do when the API no longer accepts the token (the router sends to the login, or to
 * the password page while the password must be changed). */
export function whenLoginLost(handler: (reason: string) => void): void {
  onLoginLost = handler
}

/** An answer that says the token is no longer good: forget it and let the router react. */
export async function checkAnswer(response: Response): Promise<void> {
  if (!stored.value) return
  if (response.status === 401) {
    forgetLogin()
    onLoginLost('expired')
  } else if (response.status === 403) {
    const body = (await response.clone().json().catch(() => null)) as { code?: string } | null
    if (body?.code === 'password_change_required') {
      // The token is good for one call only, changing the password: keep it for that page.
      keepLogin(stored.value.token, { ...stored.value.user, must_change_password: true })
      onLoginLost('password_change_required')
    }
  }
}

// Every API call of the pages carries the staff token while one is kept.
api.use({
  onRequest({ request }) {
    const headers = authHeaders()
    if (headers.Authorization && !request.headers.has('Authorization')) {
      request.headers.set('Authorization', headers.Authorization)
    }
    return request
  },
  async onResponse({ request, response }) {
    if (request.headers.has('Authorization')) await checkAnswer(response)
    return response
  },
})
