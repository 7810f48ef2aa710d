import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { InfermeshError } from '@infermesh/shared';
import { sha256OfFile } from './verify-sha256.js';

/** Limits of artifact downloads. */
export interface ArtifactCacheOptions {
  /** Directory of verified artifacts, each named by its SHA-256. */
  dir: string;
  /** Largest artifact accepted, bytes. */
  maxBytes: number;
  /** Longest a fetch may take, milliseconds. */
  timeoutMs: number;
  /** Total bytes the cache keeps; least recently used artifacts beyond it are deleted. */
  maxCacheBytes: number;
}

/** A verified local copy of an artifact, and what getting it cost. */
export interface MaterializedArtifact {
  path: string;
  fetchMs: number;
  verifyMs: number;
  /** The bytes were already in the cache: nothing was fetched. */
  cached: boolean;
}

/**
 * A content-addressed local cache of artifacts. A fetch streams `file://` or `http(s)://`
 * into a temporary file within the size limit and timeout; only bytes whose SHA-256 matches
 * are renamed into place, so the cache never holds an unverified artifact under a name.
 */
export class ArtifactCache {
  constructor(
    private readonly options: ArtifactCacheOptions,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  /** A verified local path for `uri` whose content must hash to `sha256`. */
  async materialize(uri: string, sha256: string): Promise<MaterializedArtifact> {
    const expected = sha256.toLowerCase();
    const target = join(this.options.dir, expected);
    const cachedSize = await stat(target).then((info) => info.size, () => undefined);
    let fetchMs = 0;
    let source = target;
    if (cachedSize === undefined) {
      await mkdir(this.options.dir, { recursive: true });
      source = join(this.options.dir, `.partial-${randomUUID()}`);
      const started = performance.now();
      try {
        await this.download(uri, source);
      } catch (error) {
        await rm(source, { force: true });
        throw error;
      }
      fetchMs = performance.now() - started;
    }
    // Verified on every load, cache hits included: a cache file damaged on disk must not be served.
    const verifyStarted = performance.now();
    const actual = await sha256OfFile(source);
    const verifyMs = performance.now() - verifyStarted;
    if (actual !== expected) {
      await rm(source, { force: true });
      throw new InfermeshError('ARTIFACT_CHECKSUM_MISMATCH', `artifact checksum mismatch for ${uri}: expected sha256 ${expected}, file has ${actual}`, {
        details: { uri, expected, actual },
      });
    }
    if (source !== target) await rename(source, target);
    // The modification time marks use, so eviction removes the least recently used first.
    const now = new Date();
    await utimes(target, now, now);
    await this.evict(target);
    return { path: target, fetchMs, verifyMs, cached: cachedSize !== undefined };
  }

  /** Deletes least recently used artifacts until the cache fits; never the one just used. */
  private async evict(keep: string): Promise<void> {
    const names = (await readdir(this.options.dir)).filter((name) => /^[0-9a-f]{64}$/.test(name));
    const files = await Promise.all(
      names.map(async (name) => {
        const path = join(this.options.dir, name);
        const info = await stat(path).catch(() => undefined);
        return { path, size: info?.size ?? 0, usedAt: info?.mtimeMs ?? 0 };
      }),
    );
    let total = files.reduce((sum, file) => sum + file.size, 0);
    for (const file of files.sort((a, b) => a.usedAt - b.usedAt)) {
      if (total <= this.options.maxCacheBytes) break;
      if (file.path === keep) continue;
      await rm(file.path, { force: true });
      total -= file.size;
    }
  }

  /**
   * Streams `uri` into `destination` under one deadline for the whole download — connect,
   * headers, body and write. One signal reaches both the request and the body pipeline, so
   * the time spent waiting for headers is not granted again to the body.
   */
  private async download(uri: string, destination: string): Promise<void> {
    const { timeoutMs, maxBytes } = this.options;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new Error(`took longer than the ${timeoutMs} ms fetch timeout`)), timeoutMs);
    timer.unref();
    let bytes = 0;
    const sizeGuard = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        bytes += chunk.length;
        if (bytes > maxBytes) callback(new InfermeshError('ARTIFACT_FETCH_FAILED', `artifact ${uri} is larger than the ${maxBytes}-byte limit`));
        else callback(null, chunk);
      },
    });
    try {
      const body = await this.open(uri, deadline.signal);
      await pipeline(body, sizeGuard, createWriteStream(destination), { signal: deadline.signal });
    } catch (error) {
      if (error instanceof InfermeshError) throw error;
      const reason = deadline.signal.aborted ? (deadline.signal.reason as Error).message : describeFailure(error);
      throw new InfermeshError('ARTIFACT_FETCH_FAILED', `cannot fetch artifact ${uri}: ${reason}`, { cause: error, retriable: true });
    } finally {
      clearTimeout(timer);
    }
  }

  /** The artifact's bytes as a stream; `signal` is the download's deadline. */
  private async open(uri: string, signal: AbortSignal): Promise<Readable> {
    if (/^https?:\/\//i.test(uri)) {
      const response = await this.fetchImpl(uri, { signal });
      const length = Number(response.headers.get('content-length'));
      let refusal: InfermeshError | undefined;
      if (response.status === 404) refusal = new InfermeshError('ARTIFACT_NOT_FOUND', `artifact ${uri} does not exist (HTTP 404)`);
      else if (!response.ok || response.body === null) refusal = new InfermeshError('ARTIFACT_FETCH_FAILED', `cannot fetch artifact ${uri}: HTTP ${response.status}`, { retriable: true });
      else if (length > this.options.maxBytes) refusal = new InfermeshError('ARTIFACT_FETCH_FAILED', `artifact ${uri} is ${length} bytes, over the ${this.options.maxBytes}-byte limit`);
      if (refusal !== undefined) {
        // An unread body would hold the connection open until garbage collection.
        await response.body?.cancel().catch(() => undefined);
        throw refusal;
      }
      return Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
    }
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri) && !uri.startsWith('file:')) {
      throw new InfermeshError('ARTIFACT_NOT_FOUND', `unsupported artifact URI scheme in ${uri}; use file://, http:// or https://`);
    }
    const path = uri.startsWith('file:') ? fileURLToPath(uri) : uri;
    const info = await stat(path).catch((error: Error) => {
      throw new InfermeshError('ARTIFACT_NOT_FOUND', `artifact ${uri} cannot be read: ${error.message}`, { cause: error });
    });
    if (!info.isFile()) throw new InfermeshError('ARTIFACT_NOT_FOUND', `artifact ${uri} is not a regular file`);
    return createReadStream(path);
  }
}

/** What went wrong in a fetch, with the network cause (undici reports only "fetch failed"). */
function describeFailure(error: unknown): string {
  const { message, cause } = error as Error & { cause?: unknown };
  return cause instanceof Error ? `${message}: ${cause.message}` : message;
}
