// How the API's figures read on screen (the figures themselves are never recomputed).

/** A rate of the API (a fraction, 4 decimals) as a percentage; "—" when undefined. */
export function percent(rate: number | null | undefined): string {
  return rate === null || rate === undefined ? '—' : `${(rate * 100).toFixed(2)}%`
}

/** A timestamp of the API in China time, to the minute. */
export function when(iso: string | null | undefined): string {
  if (!iso) return '—'
  return new Date(iso).toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false }).slice(0, -3)
}

/** A date as the API's from/to take it (YYYY-MM-DD). */
export function day(date: Date): string {
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000)
  return local.toISOString().slice(0, 10)
}
