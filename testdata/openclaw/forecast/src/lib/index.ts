export { seasonOf } from "./season.js";
