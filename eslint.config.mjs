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
    .map((line) => {
        // gitignore semantics: a pattern with no inner slash matches at any depth (bin/ is every
        // bin folder, policy/bin among them); a trailing slash means the folder and all below it.
        const folder = line.endsWith("/");
        const pattern = folder ? line.slice(0, -1) : line;
        const anchored = pattern.includes("/") ? pattern.replace(/^\//, "") : `**/${pattern}`;
        return folder ? `${anchored}/**` : anchored;
    });

// Code that reads the untyped JSON the engine, the mocks and the API hand over: the tests, and
// the policy pack, whose policies inspect resources as the engine sends them.
const TESTS = ["tests/**/*.ts", "policy/**/*.ts"];

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
    {
        // The pack's measuring scripts are plain CommonJS run by node.
        files: ["**/*.js"],
        languageOptions: {
            sourceType: "commonjs",
            globals: Object.fromEntries(
                ["require", "module", "__dirname", "process", "console", "setTimeout", "clearTimeout"].map((name) => [
                    name,
                    "readonly",
                ]),
            ),
        },
    },
    prettier,
);
