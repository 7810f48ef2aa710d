/**
 * Folder-level import cycles: two folders of one package's src/ that import each other,
 * directly or round a longer loop (models/ → pools/ → models/). Files can be acyclic while
 * their folders are not, and then neither folder can be read, moved or made a package
 * without the other. Computed from the file-level import graph the cycle check builds.
 */

/** One folder-level cycle: the package, and each step as the folder pair with one import that makes it. */
export interface FolderCycle {
  /** The package's source root, e.g. `packages/gateway/src`. */
  root: string;
  steps: { from: string; to: string; file: string; imports: string }[];
}

/** `packages/<name>/src/<folder>/…` → its root and folder; files directly in src/ belong to no folder. */
function folderOf(file: string): { root: string; folder: string } | undefined {
  const match = /^(packages\/[^/]+\/src)\/([^/]+)\/./.exec(file);
  return match === null ? undefined : { root: match[1]!, folder: match[2]! };
}

/**
 * The folder cycles of `graph` (file → files it imports, paths relative to the repo root):
 * one per group of folders that reach each other, its shortest loop (the first folder
 * alphabetically breaks ties). Imports between packages and to files directly in src/ are
 * not folder edges.
 */
export function findFolderCycles(graph: Readonly<Record<string, readonly string[]>>): FolderCycle[] {
  // root → folder → folder it imports → one import that does it
  const edges = new Map<string, Map<string, Map<string, { file: string; imports: string }>>>();
  for (const [file, imported] of Object.entries(graph)) {
    const from = folderOf(file);
    if (from === undefined) continue;
    for (const target of imported) {
      const to = folderOf(target);
      if (to === undefined || to.root !== from.root || to.folder === from.folder) continue;
      const folders = edges.get(from.root) ?? new Map<string, Map<string, { file: string; imports: string }>>();
      edges.set(from.root, folders);
      const out = folders.get(from.folder) ?? new Map<string, { file: string; imports: string }>();
      folders.set(from.folder, out);
      // One import names the edge; a source file says more than a test that imports across.
      const held = out.get(to.folder);
      if (held === undefined || (isTest(held.file) && !isTest(file))) out.set(to.folder, { file, imports: target });
    }
  }
  const cycles: FolderCycle[] = [];
  for (const [root, folders] of [...edges].sort(([a], [b]) => a.localeCompare(b))) {
    const next = (folder: string) => [...(folders.get(folder)?.keys() ?? [])].sort();
    for (const group of stronglyConnected([...folders.keys()].sort(), next)) {
      if (group.length < 2) continue;
      const members = new Set(group);
      const loop = group.map((start) => shortestLoop(start, members, next)).reduce((best, candidate) => (candidate.length < best.length ? candidate : best));
      cycles.push({ root, steps: loop.map((from, index) => ({ from, to: loop[(index + 1) % loop.length]!, ...folders.get(from)!.get(loop[(index + 1) % loop.length]!)! })) });
    }
  }
  return cycles;
}

function isTest(file: string): boolean {
  return file.endsWith('.test.ts');
}

/** Groups of nodes that all reach each other (Tarjan), each sorted; singletons included. */
function stronglyConnected(nodes: readonly string[], next: (node: string) => string[]): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const target of next(node)) {
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node)!, index.get(target)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const group: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      group.push(member);
    } while (member !== node);
    groups.push(group.sort());
  };
  for (const node of nodes) if (!index.has(node)) visit(node);
  return groups;
}

/** The shortest path from `start` back to itself inside `group` (breadth first), as the folders it passes. */
function shortestLoop(start: string, group: ReadonlySet<string>, next: (node: string) => string[]): string[] {
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const target of next(node)) {
      if (!group.has(target)) continue;
      if (target === start) {
        const path = [node];
        while (path[0] !== start) path.unshift(cameFrom.get(path[0]!)!);
        return path;
      }
      if (!cameFrom.has(target)) {
        cameFrom.set(target, node);
        queue.push(target);
      }
    }
  }
  throw new Error(`no loop through ${start} in its own strongly connected group`);
}
