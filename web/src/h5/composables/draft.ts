// What a reporter typed and chose for one code, kept in localStorage until the report
// succeeds: a reload, a crash or a lost network loses nothing already uploaded. The
// report's Idempotency-Key is kept here too, so a retried submit never makes two hazards.
export interface DraftPhoto {
  mediaId: number
  preview: string
}

export interface Draft {
  category: string
  description: string
  photos: DraftPhoto[]
  uploadToken: string | null
  reportKey: string | null
  lat: number | null
  lng: number | null
  accuracy: number | null
}

const PREFIX = 'mashangcha.h5.draft.'

export function emptyDraft(): Draft {
  return {
    category: '',
    description: '',
    photos: [],
    uploadToken: null,
    reportKey: null,
    lat: null,
    lng: null,
    accuracy: null,
  }
}

export function loadDraft(token: string): Draft | null {
  try {
    const raw = localStorage.getItem(PREFIX + token)
    return raw ? { ...emptyDraft(), ...(JSON.parse(raw) as Partial<Draft>) } : null
  } catch {
    return null
  }
}

export function saveDraft(token: string, draft: Draft): void {
  try {
    localStorage.setItem(PREFIX + token, JSON.stringify(draft))
  } catch {
    // storage full or refused (private mode): the page still holds everything
  }
}

export function dropDraft(token: string): void {
  try {
    localStorage.removeItem(PREFIX + token)
  } catch {
    // nothing kept
  }
}

// The receipt of the report just made, shown on the next page (once).
const RECEIPT = 'mashangcha.h5.receipt'

export interface ShownReceipt {
  key: string
  number: string
  place: string
  token: string
}

export function keepReceipt(receipt: ShownReceipt): void {
  sessionStorage.setItem(RECEIPT, JSON.stringify(receipt))
}

export function shownReceipt(): ShownReceipt | null {
  try {
    const raw = sessionStorage.getItem(RECEIPT)
    return raw ? (JSON.parse(raw) as ShownReceipt) : null
  } catch {
    return null
  }
}
