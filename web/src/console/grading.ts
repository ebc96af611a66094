// The grading methods' tables and thresholds, as service/risks/grading.py has them, for the
// live preview of D (or R) while a form is filled in. The server stays the authority: the
// saved assessment shows the API's score and level, and values it refuses come back as 422.
import type { Schemas } from '../api/client'

export type Level = Schemas['Assessment']['level'] & string

export interface Choice {
  value: number
  label: string
}

/** LEC: 事故发生的可能性 L, 暴露于危险环境的频繁程度 E, 后果 C (the standard tables). */
export const LEC_L: Choice[] = [
  { value: 10, label: '完全可以预料' },
  { value: 6, label: '相当可能' },
  { value: 3, label: '可能，但不经常' },
  { value: 1, label: '可能性小，完全意外' },
  { value: 0.5, label: '很不可能，可以设想' },
  { value: 0.2, label: '极不可能' },
  { value: 0.1, label: '实际不可能' },
]
export const LEC_E: Choice[] = [
  { value: 10, label: '连续暴露' },
  { value: 6, label: '每天工作时间内暴露' },
  { value: 3, label: '每周一次或偶然暴露' },
  { value: 2, label: '每月一次暴露' },
  { value: 1, label: '每年几次暴露' },
  { value: 0.5, label: '非常罕见地暴露' },
]
export const LEC_C: Choice[] = [
  { value: 100, label: '大灾难，许多人死亡' },
  { value: 40, label: '灾难，数人死亡' },
  { value: 15, label: '非常严重，一人死亡' },
  { value: 7, label: '严重，重伤' },
  { value: 3, label: '重大，致残' },
  { value: 1, label: '引人注目，需要救护' },
]
/** LS: 可能性 L and 严重性 S, each 1–5. */
export const LS_L: Choice[] = [
  { value: 5, label: '几乎肯定' },
  { value: 4, label: '很可能' },
  { value: 3, label: '可能' },
  { value: 2, label: '不太可能' },
  { value: 1, label: '极不可能' },
]
export const LS_S: Choice[] = [
  { value: 5, label: '灾难性' },
  { value: 4, label: '严重' },
  { value: 3, label: '中等' },
  { value: 2, label: '较小' },
  { value: 1, label: '轻微' },
]

/** D = L × E × C, rounded as the server rounds it (0.1 × 3 × 7 is 2.1). */
export function lecScore(l: number, e: number, c: number): number {
  return Math.round(l * e * c * 10_000) / 10_000
}

/** D > 320 红, 160 < D ≤ 320 橙, 70 < D ≤ 160 黄, D ≤ 70 蓝. */
export function lecLevel(d: number): Level {
  if (d > 320) return 'red'
  if (d > 160) return 'orange'
  if (d > 70) return 'yellow'
  return 'blue'
}

/** R = L × S: 20–25 红, 15–16 橙, 8–12 黄, ≤ 6 蓝. */
export function lsLevel(r: number): Level {
  if (r >= 20) return 'red'
  if (r >= 15) return 'orange'
  if (r >= 8) return 'yellow'
  return 'blue'
}

/** The tag colour of a level (Element Plus has no orange type: the CSS classes below). */
export function levelClass(level: Level | null | undefined): string {
  return level ? `risk-tag risk-${level}` : 'risk-tag risk-none'
}
