/** Shows connection state in the header. */
export function setConnection(state: 'live' | 'reconnecting' | 'offline', text: string): void {
  const badge = document.getElementById('connection');
  if (badge === null) return;
  badge.textContent = text;
  badge.className = `connection ${state}`;
}
