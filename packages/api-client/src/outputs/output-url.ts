/** The route of one output file: `/v1/tasks/<id>/outputs/<path>`, each segment encoded. */
export function outputUrlPath(taskId: string, path: string): string {
  return `/v1/tasks/${encodeURIComponent(taskId)}/outputs/${path.split('/').map(encodeURIComponent).join('/')}`;
}
