// Runtime piece of the CUDA backend: CUDA graphs. captureGraph records the launches a callback queues on the
// backend's stream into a graph and returns it instantiated, replayable with one cuGraphLaunch. The backend class
// (index.ts) owns the capture flag, which its host-index staging reads to refuse host tensors while capturing.
import { FlashMlaError } from '../../core/errors.js';
import type { Driver } from './driver.js';

/** A captured sequence of launches (e.g. every layer of one decode step), replayed with one cuGraphLaunch. */
export interface CudaGraph {
  /** Queue one replay on the backend's stream. */
  launch(): void;
  dispose(): void;
}

/**
 * Capture what `fn` queues on `stream`. `fn` runs once uncaptured first (unless warmup is false) so workspaces have
 * grown; `setCapturing` brackets the captured run. `hold` (optional) keeps the workspaces the graph reads: called once
 * the graph is instantiated, its releases run at dispose(). `onLaunch` runs after each replay is queued (the backend
 * forgets which host words its workspaces hold: the replay writes its accumulators where later calls staged them).
 */
export async function captureGraph(
  drv: Driver, stream: bigint, setCapturing: (on: boolean) => void, fn: () => void | Promise<void>, opts: { warmup?: boolean } = {},
  hold: () => (() => void)[] = () => [], onLaunch: () => void = () => {},
): Promise<CudaGraph> {
  if (opts.warmup ?? true) await fn();
  drv.synchronize(stream);
  drv.beginCapture(stream);
  setCapturing(true);
  try {
    await fn();
  } catch (e) {
    setCapturing(false);
    try { drv.destroyGraph(drv.endCapture(stream)); } catch { /* the capture may already be invalid */ }
    throw e;
  }
  setCapturing(false);
  const graph = drv.endCapture(stream);
  let exec: bigint;
  try {
    exec = drv.instantiate(graph);
  } catch (e) {
    drv.destroyGraph(graph);
    throw e;
  }
  let gone = false;
  const releases = hold();
  return {
    launch: () => {
      if (gone) throw new FlashMlaError('disposed', 'cuda graph: used after dispose()');
      drv.graphLaunch(exec, stream);
      onLaunch();
    },
    dispose: () => {
      if (gone) return;
      gone = true;
      drv.destroyGraphExec(exec);
      drv.destroyGraph(graph);
      for (const r of releases) r();
    },
  };
}
