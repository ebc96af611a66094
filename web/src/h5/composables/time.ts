// Times as people here read them: China time, 2026/12/04 14:05.
const FORMAT = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hour12: false,
})

export function chinaTime(iso: string): string {
  return FORMAT.format(new Date(iso))
}
