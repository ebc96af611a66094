// Every Chinese word of the console, in one place.
import type { Schemas } from '../api/client'

type Hazard = Schemas['Hazard']

export const STATUS: Record<Hazard['status'], string> = {
  reported: '待处理',
  rectifying: '整改中',
  verifying: '待验收',
  closed: '已销号',
  rejected: '不属实',
}

export const LEVEL: Record<Hazard['level'], string> = { general: '一般隐患', major: '重大隐患' }

export const SOURCE: Record<Hazard['source'], string> = {
  self_check: '企业自查',
  inspection: '检查发现',
  public_tip: '群众举报',
}

export const CATEGORY: Record<Hazard['category'], string> = {
  fire: '消防安全',
  electrical: '用电安全',
  special_equipment: '特种设备',
  hazardous_chemicals: '危险化学品',
  confined_space: '有限空间',
  dust: '粉尘防爆',
  machinery: '机械防护',
  work_at_height: '高处作业',
  housekeeping: '现场管理',
  other: '其他',
}

export const INDUSTRY: Record<Schemas['Enterprise']['industry'], string> = {
  hazardous_chemicals: '危化品',
  industry_trade: '工贸',
  dust_explosion: '粉尘涉爆',
  confined_space: '有限空间',
  construction: '建筑施工',
  fire_key_unit: '消防重点',
  other: '其他',
}

export const RISK: Record<Schemas['Enterprise']['risk_color'], string> = {
  red: '重大风险',
  orange: '较大风险',
  yellow: '一般风险',
  blue: '低风险',
}

export const ROLE: Record<Schemas['User']['role'], string> = {
  reporter: '职工',
  enterprise_officer: '企业安全员',
  inspector: '网格员',
  supervisor: '监管人员',
  admin: '管理员',
}

// The verbs of a hazard's actions (the API lists which ones the caller may do now).
export const ACTION: Record<string, string> = {
  assign: '交办整改',
  file_plan: '填写五落实方案',
  plan: '填写五落实方案',
  submit_fix: '提交整改',
  verify: '验收',
  pass: '验收通过',
  fail: '验收不通过',
  reject: '核实不属实',
  reopen: '重新打开',
  extend: '延期',
  request_extension: '申请延期',
  approve_extension: '批准延期',
  decline_extension: '驳回延期',
  mark_overdue: '标记逾期',
  escalate: '挂牌督办',
  report: '上报',
}

export const TEXT = {
  appName: '码上查 · 监管控制台',
  login: '登录',
  logout: '退出',
  username: '用户名',
  password: '密码',
  dashboard: '驾驶舱',
  hazards: '隐患',
  ledger: '重大隐患台账',
  enterprises: '企业与二维码',
  users: '用户',
  jobs: '任务',
  notFound: '未找到',
  notFoundHint: '该页面不存在，或不在您的管辖范围内。',
  backHome: '返回驾驶舱',
  loading: '加载中…',
}

// --- 双重预防 ---------------------------------------------------------------------------

type RiskPoint = Schemas['RiskPoint']
type RiskLevel = NonNullable<RiskPoint['risk_level']>

export const PREVENTION = {
  points: '风险四色',
  checklists: '排查清单',
  tasks: '排查任务',
}

/** A point's level (风险等级) by its colour, and the tag type that shows the colour. */
export const RISK_LEVEL: Record<RiskLevel, string> = {
  red: '红 · 重大风险',
  orange: '橙 · 较大风险',
  yellow: '黄 · 一般风险',
  blue: '蓝 · 低风险',
}

export const POINT_KIND: Record<RiskPoint['kind'], string> = {
  equipment: '设备设施',
  activity: '作业活动',
  area: '场所区域',
}

export const CONTROL_LEVEL: Record<NonNullable<RiskPoint['control_level']>, string> = {
  company: '公司级',
  workshop: '车间级',
  team: '班组级',
  post: '岗位级',
}

export const MEASURE_TYPE: Record<Schemas['ControlMeasure']['type'], string> = {
  engineering: '工程技术',
  management: '管理',
  training: '培训教育',
  ppe: '个体防护',
  emergency: '应急处置',
}

export const METHOD: Record<Schemas['AssessmentInput']['method'], string> = {
  lec: 'LEC 作业条件危险性分析',
  ls: 'LS 风险矩阵',
  direct: '直接判定',
}

export const FREQUENCY: Record<Schemas['AttachmentInput']['frequency'], string> = {
  shift: '每班',
  day: '每天',
  week: '每周',
  month: '每月',
  quarter: '每季',
  year: '每年',
}

export const TASK_STATE: Record<NonNullable<Schemas['Task']['state']>, string> = {
  upcoming: '未开始',
  due: '待完成',
  overdue: '逾期',
  done: '已完成',
}

export const JOB_KIND: Record<string, string> = {
  posters: '二维码海报 PDF',
  export: '统计导出',
  enterprise_import: '企业导入',
  staff_import: '账号导入',
  document: '通报文书',
}

export const JOB_STATE: Record<Schemas['Job']['state'], string> = {
  queued: '排队中',
  running: '进行中',
  succeeded: '已完成',
  failed: '失败',
  cancelled: '已取消',
}
