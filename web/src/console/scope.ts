// The dashboard's scope and period live in the URL (?region=…&from=…), so a drill-down is
// a link that can be shared, reloaded and gone back from.
import { computed } from 'vue'
import { useRoute, useRouter, type LocationQuery } from 'vue-router'

export interface StatsScope {
  region_id?: number
  grid_id?: number
  enterprise_id?: number
  industry?: 'hazardous_chemicals' | 'industry_trade' | 'dust_explosion' | 'confined_space' | 'construction' | 'fire_key_unit' | 'other'
  level?: 'general' | 'major'
  from?: string
  to?: string
}

const KEYS = { region: 'region_id', grid: 'grid_id', enterprise: 'enterprise_id' } as const

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value ? value : undefined
}

/** The scope a dashboard URL's query names (unknown or empty values left out). */
export function scopeOf(q: LocationQuery): StatsScope {
  const out: StatsScope = {}
  for (const [param, key] of Object.entries(KEYS)) {
    const id = Number(text(q[param]))
    if (Number.isInteger(id) && id > 0) out[key] = id
  }
  out.industry = text(q.industry) as StatsScope['industry']
  out.level = text(q.level) as StatsScope['level']
  out.from = text(q.from)
  out.to = text(q.to)
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as StatsScope
}

export function useScope() {
  const route = useRoute()
  const router = useRouter()
  const scope = computed<StatsScope>(() => scopeOf(route.query))

  /** Changes part of the scope (undefined removes it) and keeps the rest. */
  function change(patch: Record<string, string | number | undefined>): void {
    const query: Record<string, string> = {}
    for (const [k, v] of Object.entries({ ...route.query, ...patch })) {
      if (v !== undefined && v !== null && v !== '') query[k] = String(v)
    }
    void router.push({ path: route.path, query })
  }

  return { scope, change }
}
