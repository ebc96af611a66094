// Long work the API runs as a job (202 + Location): follow it until it ends, show its
// progress, save its file, cancel it. The figures (done, total, message) are the API's.
import { getCurrentScope, onScopeDispose, ref } from 'vue'
import { api, type ApiError, type Schemas } from '../api/client'
import { downloadFile, saveResult } from '../api/download'
import { authHeaders, checkAnswer } from './session'
import { submissionKey } from './submission'

export type Job = Schemas['Job']
export type JobResult = Schemas['JobResult']

// The API's Retry-After for a job still at work.
const POLL_MS = 2000

/** Whether the job has ended (nothing more will change but its link's freshness). */
export function finished(job: Job): boolean {
  return job.state !== 'queued' && job.state !== 'running'
}

/** The file of a succeeded job while it is kept. */
export function resultOf(job: Job): JobResult | null {
  return job.result && 'url' in job.result ? (job.result as JobResult) : null
}

/** The error of a failed job, in the API's one shape. */
export function errorOf(job: Job): ApiError | null {
  return job.error && 'code' in job.error ? (job.error as ApiError) : null
}

/** The job's progress as a percentage, or null while its total is not known. */
export function percentDone(job: Job): number | null {
  if (job.state === 'succeeded') return 100
  const { done, total } = job.progress
  return total ? Math.min(100, Math.floor((done * 100) / total)) : null
}

/** Downloads a file the API serves to logged-in callers; a job when the API answers 202. */
export function download(path: string, fallback: string): Promise<Job | null> {
  return downloadFile(path, authHeaders(), fallback, checkAnswer)
}

// Said by the page, not the API: the job succeeded but its file is no longer kept.
const EXPIRED: ApiError = {
  status: 410,
  code: 'job_result_expired',
  message: '文件已过保留期被删除，请重新生成',
  message_en: 'The file is no longer kept: make it again',
}

/** Saves a finished job's file under its name; its link is asked afresh first (links are
 * short-lived, a page left open would hold a stale one). */
export async function saveJobFile(job: Job): Promise<void> {
  const fresh = await api.GET('/api/v1/jobs/{job_id}', { params: { path: { job_id: job.id } } })
  if (!fresh.data) throw fresh.error
  const result = resultOf(fresh.data)
  if (!result) throw EXPIRED
  await saveResult(result)
}

// A retried 取消 (the answer lost on the way) answers the cancelled job, not a refusal.
const cancelling = submissionKey()

/** Cancels a queued or running job; answers the job as it now is. */
export async function cancelJob(job: Job): Promise<Job> {
  const header = { 'Idempotency-Key': cancelling.keyFor(job.id) }
  const { data, error } = await api.POST('/api/v1/jobs/{job_id}/cancel', { params: { path: { job_id: job.id }, header } })
  if (!data) throw error
  cancelling.done()
  return data
}

/** One job followed until it ends: polled every two seconds, never after the page is left.
 * `onEnd` runs once with the finished job. */
export function useJob(onEnd?: (job: Job) => void | Promise<void>) {
  const job = ref<Job>()
  let timer: ReturnType<typeof setTimeout> | undefined
  let alive = true

  function stop(): void {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
  }

  async function poll(): Promise<void> {
    timer = undefined
    const current = job.value
    if (!current || !alive) return
    let data: Job | undefined
    try {
      data = (await api.GET('/api/v1/jobs/{job_id}', { params: { path: { job_id: current.id } } })).data
    } catch {
      // No answer (the network dropped): the job goes on; ask again at the next turn.
    }
    // A newer job may have been followed meanwhile, or the page left.
    if (!alive || job.value?.id !== current.id) return
    if (data) job.value = data
    settle()
  }

  function settle(): void {
    const current = job.value
    if (!current || !alive) return
    if (finished(current)) void onEnd?.(current)
    else timer = setTimeout(poll, POLL_MS)
  }

  /** Follows this job (the 202's body) instead of any earlier one. */
  function follow(started: Job): void {
    stop()
    job.value = started
    settle()
  }

  /** Shows a job as the API now answers it (after a cancel), following it if unfinished. */
  function update(changed: Job): void {
    follow(changed)
  }

  if (getCurrentScope()) {
    onScopeDispose(() => {
      alive = false
      stop()
    })
  }

  return { job, follow, update }
}
