// Every text the H5 pages show, in one place.
export const t = {
  appName: '码上查',
  loading: '加载中…',
  home: '隐患随手拍：用手机相机扫描企业张贴的二维码，即可上报安全隐患。',
  scanFailed: '二维码不可用',
} as const
