export {
  blindIndex,
  blindIndexes,
  createSubjectResolver,
  type ResolvedSubject,
  type SubjectResolver,
} from './resolve-subject.js';
export { createSubjectKeys, type SubjectKeys } from './subject-keys.js';
