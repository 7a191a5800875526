// JSON Patch (RFC 6902): the operations a live socket sends for a new version of its
// document (web/live/patches.py makes add, remove, replace and move). Throws on a
// path that does not fit the document: the socket then asks for the whole document
// again.

function tokens(path) {
  if (path === '') return [];
  if (typeof path !== 'string' || !path.startsWith('/')) throw new Error(`bad JSON Pointer ${path}`);
  return path.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function index(list, token, adding) {
  if (adding && token === '-') return list.length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw new Error(`bad array index ${token}`);
  const i = Number(token);
  if (i > list.length || (!adding && i === list.length)) throw new Error(`index ${i} out of range`);
  return i;
}

/** The container holding ``path``'s last token, and that token. */
function locate(root, path) {
  const parts = tokens(path);
  let parent = root;
  for (const token of parts.slice(0, -1)) {
    parent = Array.isArray(parent) ? parent[index(parent, token, false)] : parent[token];
    if (parent === null || typeof parent !== 'object') throw new Error(`no ${path}`);
  }
  return [parent, parts[parts.length - 1]];
}

function take(root, path) {
  const [parent, last] = locate(root, path);
  if (Array.isArray(parent)) return parent.splice(index(parent, last, false), 1)[0];
  if (!(last in parent)) throw new Error(`no ${path}`);
  const value = parent[last];
  delete parent[last];
  return value;
}

function put(root, path, value, replacing) {
  const [parent, last] = locate(root, path);
  if (Array.isArray(parent)) {
    const i = index(parent, last, !replacing);
    if (replacing) parent[i] = value;
    else parent.splice(i, 0, value);
  } else {
    if (replacing && !(last in parent)) throw new Error(`no ${path}`);
    parent[last] = value;
  }
}

/** ``doc`` changed by ``ops`` (in place where it can be; the result is returned). */
export function applyPatch(doc, ops) {
  let root = doc;
  for (const op of ops) {
    if (op.path === '') {                     // the whole document
      if (op.op !== 'replace' && op.op !== 'add') throw new Error(`cannot ${op.op} the document`);
      root = op.value;
    } else if (op.op === 'add' || op.op === 'replace') {
      put(root, op.path, op.value, op.op === 'replace');
    } else if (op.op === 'remove') {
      take(root, op.path);
    } else if (op.op === 'move') {
      put(root, op.path, take(root, op.from), false);
    } else {
      throw new Error(`unsupported op ${op.op}`);
    }
  }
  return root;
}
