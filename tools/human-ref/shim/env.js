export const env = { initial: false };
