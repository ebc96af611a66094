// How the 一张图 shows enterprises and open hazards, with or without a base map.
import type { Schemas } from '../api/client'

// Risk colours as the national 红橙黄蓝 scheme prints them; hazards by level.
export const RISK_COLOURS: Record<string, string> = { red: '#d9001b', orange: '#f59a23', yellow: '#e6c700', blue: '#1f6fd1' }
export const LEVEL_COLOURS: Record<string, string> = { major: '#8b0000', general: '#4b4b4b' }

/** One point of the tile map. */
export interface MapPoint {
  coordinates: number[] // [longitude, latitude], as GeoJSON has them
  name: string
  colour: string
  radius: number
  link?: string // where a click leads (a hazard's page)
}

/** Enterprises under the open hazards (drawn last, so on top), coloured as the legend says. */
export function mapPoints(enterprises: Schemas['EnterpriseFeature'][], hazards: Schemas['HazardFeature'][]): MapPoint[] {
  return [
    ...enterprises.map((f) => ({
      coordinates: f.geometry.coordinates,
      name: f.properties.name,
      colour: RISK_COLOURS[f.properties.risk_color] ?? '#909399',
      radius: 6,
    })),
    ...hazards.map((f) => ({
      coordinates: f.geometry.coordinates,
      name: `${f.properties.number} ${f.properties.enterprise_name}（${f.properties.level_label}）`,
      colour: LEVEL_COLOURS[f.properties.level] ?? '#4b4b4b',
      radius: f.properties.level === 'major' ? 10 : 7,
      link: `/console/hazards/${f.id}`,
    })),
  ]
}
