import type { paths } from '../api/schema'

/** The API's file imports: a CSV/XLSX sent as `file`, answered with a report for every row. */
export type ImportPath = '/api/v1/enterprises/import' | '/api/v1/users/import'

/** What an import answers when it has read the file (written or not, as its mode says). */
export type ImportReport<P extends ImportPath> = NonNullable<paths[P]['post']>['responses'][200]['content']['application/json']
