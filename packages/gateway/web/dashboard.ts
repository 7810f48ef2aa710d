import { experimentPage } from './experiment-page.js';
import { indexPage } from './index-page.js';

/** `/dashboard/{model}`: the model's name, decoded; undefined on the index. */
function modelOfPath(pathname: string): string | undefined {
  const match = /^\/dashboard\/([^/]+)\/?$/.exec(pathname);
  return match === null ? undefined : decodeURIComponent(match[1]!);
}

const root = document.getElementById('app');
if (root !== null) {
  const model = modelOfPath(location.pathname);
  if (model === undefined) indexPage(root);
  else {
    document.title = `${model} · infermesh experiments`;
    experimentPage(root, model);
  }
}
