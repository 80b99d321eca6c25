export const seasonOf = (month: number): string =>
  ["winter", "spring", "summer", "autumn"][Math.floor(((month + 1) % 12) / 3)]!;
