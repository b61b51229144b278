// image_records: where microgo keeps images (GridFS bucket "fs"), and the
// account microgo uses there (readWrite on image_records only).
// Run once by the MongoDB image from /docker-entrypoint-initdb.d (mongosh,
// as the root user), on the first start with an empty volume.
//
// The password is the app's: the file ACCESS_PWD_FILE names (the compose
// init service generates /run/secrets/access_pwd), never the repository.
// ACCESS_USR names the account (default accessuser). docker-compose.yml
// gives the mongodb service both; tools/stack.py sets them when it runs
// this script against a local mongod.
const fs = require("fs");

const accessUser = process.env.ACCESS_USR || "accessuser";
const accessPwdFile = process.env.ACCESS_PWD_FILE || "/run/secrets/access_pwd";
// Trailing white space goes, as the app strips it (ACCESS_PWD_FILE).
const accessPwd = fs.readFileSync(accessPwdFile, "utf8").replace(/\s+$/, "");
if (accessPwd === "") {
    throw new Error("init-mongo.js: " + accessPwdFile + " is empty");
}

db.getSiblingDB("image_records").createUser({
    user: accessUser,
    pwd: accessPwd,
    roles: [{ role: "readWrite", db: "image_records" }],
});
print("init-mongo.js: " + accessUser + "@image_records created (readWrite)");
