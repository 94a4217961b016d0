// Validates CycloneDX JSON files with @cyclonedx/cyclonedx-library's strict JSON schema
// validator (an implementation independent of ours). Prints "valid FILE VERSION" per file;
// exit 1 at the first invalid one, with the validator's errors.
import { readFileSync } from 'node:fs';
import { Validation } from '@cyclonedx/cyclonedx-library';

let bad = 0;
for (const file of process.argv.slice(2)) {
	const text = readFileSync(file, 'utf8');
	const version = JSON.parse(text).specVersion;
	const validator = new Validation.JsonStrictValidator(version);
	const errors = await validator.validate(text);
	if (errors === null) {
		console.log(`valid ${file} CycloneDX ${version}`);
	} else {
		console.log(`invalid ${file}: ${JSON.stringify(errors)}`);
		bad = 1;
	}
}
process.exit(bad);
