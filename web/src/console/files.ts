// Files the console makes in the browser (nothing is sent anywhere to make them).

// A spreadsheet runs a cell starting with one of these as a formula (as service/core/sheets.py).
const FORMULA = /^[=+\-@\t\r\n]/

function csvCell(value: string): string {
  const safe = FORMULA.test(value) ? `'${value}` : value
  return `"${safe.replace(/"/g, '""')}"`
}

/** Rows as a CSV file Excel opens in Chinese (UTF-8 with a byte-order mark, CRLF lines). */
export function csvFile(rows: string[][]): Blob {
  const text = rows.map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n'
  return new Blob(['\uFEFF', text], { type: 'text/csv;charset=utf-8' })
}

/** Hands a file to the browser's downloads under `name` (the same for every app). */
export { saveBlob as saveFile } from '../api/download'
