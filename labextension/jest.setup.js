// jsdom lacks DragEvent, which @lumino/dragdrop subclasses at import time.
if (typeof globalThis.DragEvent === 'undefined') {
  globalThis.DragEvent = class DragEvent extends MouseEvent {};
}
if (typeof globalThis.requestAnimationFrame === 'undefined') {
  globalThis.requestAnimationFrame = cb => setTimeout(() => cb(Date.now()), 0);
}
