// Every command the extension registers, in one list: commands.ts must implement each (the type
// checker enforces it) and package.json must contribute each (a unit test checks it).

export const COMMAND_IDS = [
  'trainer.startTraining',
  'trainer.stopTraining',
  'trainer.resumeFromCheckpoint',
  'trainer.resumeLatest',
  'trainer.evaluateCheckpoint',
  'trainer.predictWithCheckpoint',
  'trainer.exportModel',
  'trainer.tryModel',
  'trainer.openMetrics',
  'trainer.newConfig',
  'trainer.createExample',
  'trainer.revealCheckpoint',
  'trainer.deleteCheckpoint',
  'trainer.showOutput',
  'trainer.refresh',
  'trainer.manageTrust',
] as const;

export type CommandId = (typeof COMMAND_IDS)[number];
