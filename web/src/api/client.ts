// The one API client of every page, typed from our OpenAPI document at build time
// (`npm run schema` writes schema.d.ts): an API change that breaks a page fails the
// type check, not a user.
import createClient from 'openapi-fetch'
import type { components, paths } from './schema'

export type Schemas = components['schemas']
export type ApiError = Schemas['Error']

// Lists in a query are comma-separated (`status=reported,rectifying`), as our API reads them
// (webargs DelimitedList, `explode: false` in the OpenAPI document).
export const api = createClient<paths>({
  baseUrl: '',
  querySerializer: { array: { style: 'form', explode: false } },
})

/** A new Idempotency-Key (kept by the caller until its write succeeds). iOS before 15.4
 * (and WeChat's WebView on it) has no crypto.randomUUID: a version-4 UUID made by hand. */
export function newKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID()
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  bytes[6] = (bytes[6] & 0x0f) | 0x40
  bytes[8] = (bytes[8] & 0x3f) | 0x80
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** An error answer in our one shape (SPEC §5), as opposed to a network failure. */
export function isApiError(error: unknown): error is ApiError {
  return !!error && typeof error === 'object' && 'code' in error && 'message' in error
}

/** The Chinese message of an error answer, else `fallback` (a network failure). */
export function errorMessage(error: unknown, fallback = '网络不可用，请稍后重试'): string {
  return isApiError(error) && error.message ? error.message : fallback
}
