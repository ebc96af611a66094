import type { Schemas } from '../../api/client'

// What the server put inside the HTML of /q/<token> (miniprogram_api/views/web.py): the
// code's scan answer and the hazard categories, so the form stands without asking the API;
// and the reference to the scan it logged, which the staff page passes back with its own
// GET /scan/{token} so that one visit stays one logged scan.
export interface Landing {
  token: string
  scan: Schemas['ScanResult']
  categories: Schemas['Term'][]
  scan_ref?: string | null
}

/** The page's data block when it is for this code and well formed; otherwise null (the
 * page then asks the API as before). */
export function landingFor(token: string): Landing | null {
  const text = document.getElementById('report-data')?.textContent
  if (!text) return null
  try {
    const data = JSON.parse(text) as Partial<Landing> | null
    if (
      data?.token === token &&
      typeof data.scan?.enterprise?.name === 'string' &&
      Array.isArray(data.categories) &&
      data.categories.length
    )
      return data as Landing
  } catch {
    // not ours to trust: ask the API
  }
  return null
}
