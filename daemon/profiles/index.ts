import { helpersDir, templatesDir } from '../assets';
import { detectProject, type DetectOptions, type ProjectInfo } from '../project/detect';
import { resolveProfiles, type LaunchProfile, type ProfileOverrides, type Unavailable } from './resolve';
import { loadTemplates, type ProfileTemplate } from './template';

export interface ProjectProfiles {
  project: ProjectInfo;
  profiles: LaunchProfile[];
  unavailable: Unavailable[];
}

let templates: ProfileTemplate[] | undefined;

export function builtinTemplates(): ProfileTemplate[] {
  return (templates ??= loadTemplates(templatesDir()));
}

/** Detects the project at `root` and returns the profiles VS Code and the CLI offer for it. */
export function profilesFor(root: string, options: DetectOptions = {}, overrides: ProfileOverrides = {}): ProjectProfiles {
  const project = detectProject(root, options);
  return { project, ...resolveProfiles(builtinTemplates(), project, helpersDir(), overrides) };
}

export type { LaunchProfile, Unavailable } from './resolve';
