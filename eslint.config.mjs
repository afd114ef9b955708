// ESLint (flat config): typescript-eslint's type-checked rules for the program, its recommended
// rules for tests (which read the untyped JSON that the engine and mocks hand over). Formatting
// is Prettier's job, so eslint-config-prettier turns off every rule that would argue with it.
import eslint from "@eslint/js";
import prettier from "eslint-config-prettier";
import { readFileSync } from "node:fs";
import tseslint from "typescript-eslint";

/** .prettierignore's folders and patterns, so both tools cover the same files. */
const ignored = readFileSync(`${import.meta.dirname}/.prettierignore`, "utf8")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((pattern) => (pattern.endsWith("/") ? `${pattern}**` : pattern));

const TESTS = ["tests/**/*.ts"];

export default tseslint.config(
    { ignores: ignored },
    eslint.configs.recommended,
    {
        files: ["**/*.ts"],
        ignores: TESTS,
        extends: [tseslint.configs.recommendedTypeChecked],
        languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    },
    { files: TESTS, extends: [tseslint.configs.recommended] },
    {
        files: TESTS,
        rules: {
            "@typescript-eslint/no-explicit-any": "off",
            "@typescript-eslint/no-require-imports": "off",
        },
    },
    {
        files: ["**/*.ts"],
        rules: {
            // A leading underscore marks a value that is unused on purpose.
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
        },
    },
    prettier,
);
