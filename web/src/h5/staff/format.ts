// Times as people in China read them, whatever the phone's own time zone.
const moment = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hour12: false,
})
const day = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
})

/** "2026/12/04 15:30" in China time, or "" for no time. */
export function formatMoment(iso: string | null | undefined): string {
  return iso ? moment.format(new Date(iso)) : ''
}

/** "2026/12/04" in China time (a deadline is the end of its day there). */
export function formatDay(iso: string | null | undefined): string {
  return iso ? day.format(new Date(iso)) : ''
}

/** A picked date ['2026', '12', '31'] as the API's YYYY-MM-DD. */
export function pickedDay(values: string[]): string {
  return values.join('-')
}

/** Today's date parts in China time, for the date pickers' earliest day. */
export function chinaToday(): Date {
  const [y, m, d] = day.format(new Date()).split('/').map(Number)
  return new Date(y, m - 1, d)
}
