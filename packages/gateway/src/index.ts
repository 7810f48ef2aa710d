/** The HTTP gateway arrives with its own issue; the package exists so the layout is complete. */
export const GATEWAY_PACKAGE = '@infermesh/gateway';
