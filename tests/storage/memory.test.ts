import { describe, expect, it } from "vitest";
import { EventBus, memoryStorage } from "../../src/index.js";
import { describeStorageConformance } from "../../src/testing/index.js";

describeStorageConformance({ name: "memory", createStorage: () => memoryStorage(), describe, it, expect });
