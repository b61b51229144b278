// run-init-js.js SCRIPT: runs one /docker-entrypoint-initdb.d/*.js of the
// compose test's MongoDB stand-in (see the Dockerfile) the way the
// official image's mongosh would, and prints, as one JSON line on
// standard output, the users it created: [{db, user, pwd}, ...].
//
// The script really runs, in Node (mongosh is built on Node): require()
// (fs and the other Node modules), process.env (the container's
// environment), print(), printjson(), console are the real thing. Only
// `db` is a stand-in: it starts as MONGO_INITDB_DATABASE (default "test",
// as in the official image), getSiblingDB(name) and getName() work, and
// createUser({user, pwd, roles}) records the user. Anything else the
// script asks of `db` throws, so a script that needs more than this
// stand-in can do stops the container rather than passing with something
// silently missing. An exception in the script exits with status 1, as
// mongosh does.
"use strict";

const fs = require("fs");
const path = require("path");
const util = require("util");
const vm = require("vm");
const { createRequire } = require("module");

const script = process.argv[2];
if (!script) {
    console.error("usage: run-init-js.js SCRIPT");
    process.exit(2);
}
const created = [];

function database(name) {
    const known = {
        getName: () => name,
        getSiblingDB: (other) => {
            if (typeof other !== "string" || other === "") {
                throw new Error("getSiblingDB: a database name is needed");
            }
            return database(other);
        },
        createUser: (doc) => {
            if (doc === null || typeof doc !== "object" || typeof doc.user !== "string" ||
                doc.user === "" || typeof doc.pwd !== "string" || doc.pwd === "") {
                throw new Error("createUser: user and pwd must be non-empty strings");
            }
            if (doc.roles !== undefined && !Array.isArray(doc.roles)) {
                throw new Error("createUser: roles must be an array");
            }
            created.push({ db: name, user: doc.user, pwd: doc.pwd });
            return { ok: 1 };
        },
        toString: () => name,
    };
    return new Proxy(known, {
        get(target, prop) {
            if (typeof prop === "symbol" || prop in target) {
                return target[prop];
            }
            throw new Error(`db.${String(prop)}: not supported by the MongoDB stand-in ` +
                            "(tests/compose/images/mongodb/run-init-js.js)");
        },
    });
}

const print = (...args) => console.error(...args.map((a) =>
    typeof a === "string" ? a : util.inspect(a)));
const context = vm.createContext({
    db: database(process.env.MONGO_INITDB_DATABASE || "test"),
    require: createRequire(path.resolve(script)),
    process,
    console: { log: print, error: print, warn: print, info: print },
    print,
    printjson: (x) => console.error(JSON.stringify(x, null, 2)),
});

try {
    vm.runInContext(fs.readFileSync(script, "utf8"), context, { filename: script });
} catch (err) {
    console.error(`${script}: ${err && err.message ? err.message : err}`);
    process.exit(1);
}
process.stdout.write(JSON.stringify(created) + "\n");
