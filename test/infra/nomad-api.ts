/** Milliseconds one Nomad HTTP API request may take. */
export const NOMAD_API_TIMEOUT_MS = 5_000;

/** An agent's HTTP API base URL (a NomadAgent fits). */
export interface NomadApiTarget {
  readonly address: string;
}

/** The fields of a job the tests read. */
export interface NomadJob {
  ID: string;
  Version: number;
  Stable: boolean;
  Status: string;
  Meta: Record<string, string> | null;
}

/** The fields of an allocation stub (`/v1/job/:id/allocations`) the tests read. */
export interface NomadAllocation {
  ID: string;
  JobVersion: number;
  TaskGroup: string;
  ClientStatus: string;
  DesiredStatus: string;
  DeploymentStatus: { Healthy?: boolean | null; Canary?: boolean } | null;
}

/** A task group's progress within a deployment. */
export interface NomadDeploymentGroup {
  DesiredCanaries: number;
  PlacedCanaries: string[] | null;
  Promoted: boolean;
  HealthyAllocs: number;
  UnhealthyAllocs: number;
}

/** The fields of a deployment the tests read. */
export interface NomadDeployment {
  ID: string;
  JobVersion: number;
  Status: string;
  StatusDescription: string;
  TaskGroups: Record<string, NomadDeploymentGroup>;
}

/** GET a path of the agent's HTTP API as JSON; throws on a non-2xx answer. */
export async function nomadGet<T>(target: NomadApiTarget, path: string): Promise<T> {
  const response = await fetch(`${target.address}${path}`, { signal: AbortSignal.timeout(NOMAD_API_TIMEOUT_MS) });
  if (!response.ok) throw new Error(`GET ${path}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** The job's current version, or undefined while it does not exist. */
export async function readJob(target: NomadApiTarget, jobId: string): Promise<NomadJob | undefined> {
  const response = await fetch(`${target.address}/v1/job/${encodeURIComponent(jobId)}`, { signal: AbortSignal.timeout(NOMAD_API_TIMEOUT_MS) });
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`GET job ${jobId}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as NomadJob;
}

/** Every allocation of the job, of every version (stopped ones too). */
export function jobAllocations(target: NomadApiTarget, jobId: string): Promise<NomadAllocation[]> {
  return nomadGet<NomadAllocation[]>(target, `/v1/job/${encodeURIComponent(jobId)}/allocations`);
}

/** Every deployment of the job, newest first. */
export async function jobDeployments(target: NomadApiTarget, jobId: string): Promise<NomadDeployment[]> {
  const deployments = await nomadGet<NomadDeployment[]>(target, `/v1/job/${encodeURIComponent(jobId)}/deployments`);
  return deployments.sort((a, b) => b.JobVersion - a.JobVersion);
}

/** The deployment of one job version, if Nomad made one. */
export async function deploymentOfVersion(target: NomadApiTarget, jobId: string, version: number): Promise<NomadDeployment | undefined> {
  return (await jobDeployments(target, jobId)).find((deployment) => deployment.JobVersion === version);
}

/** The job's allocations that are meant to run and run. */
export async function runningAllocations(target: NomadApiTarget, jobId: string): Promise<NomadAllocation[]> {
  return (await jobAllocations(target, jobId)).filter((allocation) => allocation.DesiredStatus === 'run' && allocation.ClientStatus === 'running');
}

/** Bytes of a task's stderr quoted in a diagnosis. */
const DIAGNOSIS_LOG_BYTES = 1_500;
/** Task events quoted per task in a diagnosis. */
const DIAGNOSIS_EVENTS = 4;

interface AllocationDetail {
  TaskStates: Record<string, { State: string; Failed: boolean; Restarts: number; Events: { Type: string; DisplayMessage: string }[] | null }> | null;
}

/**
 * What the job's allocations are doing, for a failure message: status, health, the last task events, and the tail
 * of the stderr of tasks that are not running. Never throws: a diagnosis must not hide the failure it explains.
 */
export async function diagnoseJob(target: NomadApiTarget, jobId: string): Promise<string> {
  try {
    const lines = [`job ${jobId}:`];
    for (const allocation of await jobAllocations(target, jobId)) {
      const health = allocation.DeploymentStatus?.Healthy;
      lines.push(`  alloc ${allocation.ID.slice(0, 8)} v${allocation.JobVersion} ${allocation.ClientStatus}/${allocation.DesiredStatus}${allocation.DeploymentStatus?.Canary ? ' canary' : ''}${health === undefined || health === null ? '' : health ? ' healthy' : ' unhealthy'}`);
      const detail = await nomadGet<AllocationDetail>(target, `/v1/allocation/${allocation.ID}`);
      for (const [task, state] of Object.entries(detail.TaskStates ?? {})) {
        const events = (state.Events ?? []).slice(-DIAGNOSIS_EVENTS).map((event) => `${event.Type}${event.DisplayMessage ? `: ${event.DisplayMessage}` : ''}`);
        lines.push(`    task ${task} ${state.State}${state.Failed ? ' failed' : ''}, ${state.Restarts} restarts; ${events.join(' | ')}`);
        if (state.State !== 'running') lines.push(`    stderr: ${(await taskLogTail(target, allocation.ID, task)).trim().replace(/\n/g, '\n      ')}`);
      }
    }
    return lines.join('\n');
  } catch (error) {
    return `job ${jobId}: no diagnosis (${(error as Error).message})`;
  }
}

async function taskLogTail(target: NomadApiTarget, allocationId: string, task: string): Promise<string> {
  const query = new URLSearchParams({ task, type: 'stderr', plain: 'true', origin: 'end', offset: String(DIAGNOSIS_LOG_BYTES) });
  const response = await fetch(`${target.address}/v1/client/fs/logs/${allocationId}?${query}`, { signal: AbortSignal.timeout(NOMAD_API_TIMEOUT_MS) });
  return response.ok ? response.text() : `(HTTP ${response.status})`;
}
