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

/** A new Idempotency-Key (kept by the caller until its write succeeds). */
export function newKey(): string {
  return crypto.randomUUID()
}

/** The Chinese message of an error answer, or a network failure's own. */
export function errorMessage(error: unknown): string {
  if (error && typeof error === 'object' && 'message' in error) {
    const message = (error as { message?: unknown }).message
    if (typeof message === 'string' && message) return message
  }
  return '网络不可用，请稍后重试'
}
