// What the 双重预防 pages share: a point's editable fields and the API's per-field errors.
import type { Schemas } from '../api/client'

type Point = Schemas['RiskPoint']

export interface PointFields {
  name: string
  kind: Point['kind']
  location: string
  department: string
  responsible_person: string
  control_level: Point['control_level']
  measures: Schemas['ControlMeasure'][]
}

/** The fields of a new point, or of `point` to edit. */
export function pointFields(point?: Point): PointFields {
  return {
    name: point?.name ?? '',
    kind: point?.kind ?? 'area',
    location: point?.location ?? '',
    department: point?.department ?? '',
    responsible_person: point?.responsible_person ?? '',
    control_level: point?.control_level ?? null,
    measures: (point?.measures ?? []).map((m) => ({ ...m })),
  }
}

/** An error answer's messages by field (`errors` of SPEC §5), one line each, for the form
 * items that show them under their input. */
export function fieldErrors(error: unknown): Record<string, string> {
  const found = (error as { errors?: Record<string, unknown> } | undefined)?.errors ?? {}
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(found)) {
    out[key] = Array.isArray(value)
      ? value.join('；')
      : typeof value === 'object' && value
        ? Object.values(value).flat().map(String).join('；')
        : String(value)
  }
  return out
}
