// A hazard's actions as forms: which fields each one asks for and which endpoint takes it.
// Which actions to show is the API's answer (`hazard.actions`), never decided here.
import { api, newKey, type Schemas } from '../api/client'
import { binary, multipart } from './session'

export type FieldKind = 'text' | 'textarea' | 'date' | 'number' | 'photos' | 'level'

export interface Field {
  key: string
  label: string
  kind: FieldKind
  required?: boolean
}

export const FORMS: Record<string, Field[]> = {
  assign: [
    { key: 'assignee_id', label: '整改责任人（用户编号）', kind: 'number', required: true },
    { key: 'deadline', label: '整改期限', kind: 'date', required: true },
    { key: 'level', label: '隐患等级', kind: 'level' },
    { key: 'note', label: '备注', kind: 'textarea' },
  ],
  file_plan: [
    { key: 'responsible_person', label: '责任人', kind: 'text' },
    { key: 'measures', label: '整改措施', kind: 'textarea' },
    { key: 'funds', label: '整改资金', kind: 'text' },
    { key: 'deadline', label: '整改时限', kind: 'date' },
    { key: 'contingency_plan', label: '应急预案', kind: 'textarea' },
  ],
  submit_fix: [
    { key: 'note', label: '整改说明', kind: 'textarea', required: true },
    { key: 'media_ids', label: '整改后照片', kind: 'photos', required: true },
  ],
  pass: [{ key: 'note', label: '验收意见', kind: 'textarea' }],
  fail: [{ key: 'note', label: '不通过的原因', kind: 'textarea', required: true }],
  reject: [{ key: 'reason', label: '不属实的原因', kind: 'textarea', required: true }],
  reopen: [
    { key: 'reason', label: '重新打开的原因', kind: 'textarea', required: true },
    { key: 'deadline', label: '新的整改期限', kind: 'date', required: true },
  ],
  request_extension: [
    { key: 'deadline', label: '申请延至', kind: 'date', required: true },
    { key: 'reason', label: '延期理由', kind: 'textarea', required: true },
  ],
  approve_extension: [],
  decline_extension: [{ key: 'reason', label: '驳回理由', kind: 'textarea' }],
}

export type Values = Record<string, string | number | number[] | undefined>

/** Uploads one photo; answers its media id, or throws the API's error answer. */
export async function uploadPhoto(file: File): Promise<number> {
  const { data, error } = await api.POST('/api/v1/media', {
    body: { file: binary(file), share_location: false },
    bodySerializer: multipart,
  })
  if (!data) throw error
  return data.id
}

const text = (v: Values[string]): string => (typeof v === 'string' ? v : v === undefined ? '' : String(v))

/** Sends one action with its Idempotency-Key and the version the form was filled on. */
export async function perform(
  action: string,
  hazard: Schemas['Hazard'],
  values: Values,
  key: string = newKey(),
) {
  const path = { hazard_id: hazard.id }
  const header = { 'Idempotency-Key': key }
  const version = hazard.version
  const params = { path, header }
  switch (action) {
    case 'assign':
      return api.POST('/api/v1/hazards/{hazard_id}/assign', {
        params,
        body: {
          assignee_id: Number(values.assignee_id),
          deadline: text(values.deadline),
          level: (text(values.level) || 'general') as 'general' | 'major',
          note: text(values.note),
          version,
        },
      })
    case 'file_plan':
      return api.POST('/api/v1/hazards/{hazard_id}/plan', {
        params,
        body: {
          responsible_person: text(values.responsible_person) || undefined,
          measures: text(values.measures) || undefined,
          funds: text(values.funds) || undefined,
          deadline: text(values.deadline) || undefined,
          contingency_plan: text(values.contingency_plan) || undefined,
          version,
        },
      })
    case 'submit_fix':
      return api.POST('/api/v1/hazards/{hazard_id}/submit-fix', {
        params,
        body: { note: text(values.note), media_ids: (values.media_ids as number[]) ?? [], version },
      })
    case 'pass':
    case 'fail':
      return api.POST('/api/v1/hazards/{hazard_id}/verify', {
        params,
        body: { passed: action === 'pass', note: text(values.note), version },
      })
    case 'reject':
      return api.POST('/api/v1/hazards/{hazard_id}/reject', { params, body: { reason: text(values.reason), duplicate_of: null, version } })
    case 'reopen':
      return api.POST('/api/v1/hazards/{hazard_id}/reopen', {
        params,
        body: { reason: text(values.reason), deadline: text(values.deadline), version },
      })
    case 'request_extension':
      return api.POST('/api/v1/hazards/{hazard_id}/extend', {
        params,
        body: { deadline: text(values.deadline), reason: text(values.reason), approve: null, version },
      })
    case 'approve_extension':
    case 'decline_extension':
      return api.POST('/api/v1/hazards/{hazard_id}/extend', {
        params,
        body: { approve: action === 'approve_extension', deadline: null, reason: text(values.reason), version },
      })
    default:
      throw new Error(`unknown action ${action}`)
  }
}
