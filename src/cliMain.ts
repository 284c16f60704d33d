// Entry of dist/cli.js (what bin/onnx-trainer.js runs): the engine's command line in this process.
import { runCli } from './trainer/cli';

runCli();
