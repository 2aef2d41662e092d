export const log = (...a) => console.error(...a);
export const join = (a, b) => a + b;
