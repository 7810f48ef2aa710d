import { copyFile, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { infraCacheDir } from './cache-dir.js';
import { inScratchDir, installOnce, requireTool, runWithProgress, stderrLog, type ProgressLog } from './install-step.js';

/** Kafka release the tests run; must match `kafka.version` in scripts/infra/kafka/pom.xml. */
export const KAFKA_VERSION = '3.9.1';

/** The pom that lists the broker's run-time jars, and the broker's log4j 1 configuration. */
const KAFKA_INFRA_DIR = fileURLToPath(new URL('../../scripts/infra/kafka/', import.meta.url));

/** Where a Kafka broker's jars and logging configuration are. */
export interface KafkaInstall {
  /** Directory of jars: the broker's class path is `<libDir>/*`. */
  readonly libDir: string;
  /** log4j 1 properties file for `-Dlog4j.configuration=file:…`. */
  readonly log4jConfig: string;
}

/** Returns the broker's class path directory, fetching the jars from Maven Central the first time. */
export async function ensureKafka(log: ProgressLog = stderrLog): Promise<KafkaInstall> {
  const libDir = join(infraCacheDir(), 'kafka', KAFKA_VERSION, 'libs');
  const name = `kafka ${KAFKA_VERSION}`;
  await installOnce({ name, target: libDir, log, build: (partialDir) => copyKafkaJars(partialDir, name, log) });
  return { libDir, log4jConfig: join(KAFKA_INFRA_DIR, 'log4j.properties') };
}

async function copyKafkaJars(outputDir: string, name: string, log: ProgressLog): Promise<void> {
  requireTool('java', ['-version'], 'install a Java 17 runtime (Debian: apt-get install openjdk-17-jre-headless) to run Kafka');
  const mvnVersion = requireTool('mvn', ['-B', '-v'], 'install Maven (Debian: apt-get install maven) to fetch the Kafka jars').split('\n')[0];
  await assertPomMatchesVersion();
  // A scratch copy of the pom keeps Maven's output (target/) out of the repo.
  await inScratchDir('infermesh-kafka-install-', async (workDir) => {
    await copyFile(join(KAFKA_INFRA_DIR, 'pom.xml'), join(workDir, 'pom.xml'));
    const logFile = `${outputDir}.install.log`;
    log(`${name}: fetching jars with ${mvnVersion ?? 'mvn'} (first use only; log: ${logFile})`);
    await runWithProgress({
      name: `${name} jar download`,
      command: 'mvn',
      args: ['-q', '-B', 'dependency:copy-dependencies', `-Dinfermesh.kafka.libs=${outputDir}`],
      cwd: workDir,
      env: process.env,
      logFile,
      log,
    });
    const jars = await readdir(outputDir);
    if (!jars.includes(`kafka_2.13-${KAFKA_VERSION}.jar`)) {
      throw new Error(`${name}: Maven finished but ${outputDir} has no kafka_2.13-${KAFKA_VERSION}.jar (got ${jars.length} files)`);
    }
    await rm(logFile, { force: true });
  });
}

async function assertPomMatchesVersion(): Promise<void> {
  const pom = await readFile(join(KAFKA_INFRA_DIR, 'pom.xml'), 'utf8');
  const declared = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1];
  if (declared !== KAFKA_VERSION) {
    throw new Error(`scripts/infra/kafka/pom.xml has kafka.version ${declared ?? '(none)'} but KAFKA_VERSION is ${KAFKA_VERSION}`);
  }
}
