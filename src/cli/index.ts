#!/usr/bin/env node
// The command line (DESIGN section 24): being built in wave 3.
export {};
