package cloudtrail

// categorization is the ECS event.category / event.type of an API call.
type categorization struct {
	category, typ []string
}

// The slices below are shared by every document of their kind, so nothing may write to their
// elements; appending is safe because each has len == cap.
var (
	catAuthentication = []string{"authentication"}
	catIAM            = []string{"iam"}
	catFile           = []string{"file"}

	typeInfo          = []string{"info"}
	typeCreation      = []string{"creation"}
	typeDeletion      = []string{"deletion"}
	typeUserChange    = []string{"user", "change"}
	typeUserCreation  = []string{"user", "creation"}
	typeUserDeletion  = []string{"user", "deletion"}
	typeUserInfo      = []string{"user", "info"}
	typeGroupChange   = []string{"group", "change"}
	typeGroupCreation = []string{"group", "creation"}
	typeGroupDeletion = []string{"group", "deletion"}
	typeGroupInfo     = []string{"group", "info"}
	typeAdminChange   = []string{"admin", "change"}
	typeAdminCreation = []string{"admin", "creation"}
)

// categories is the eventName table of Elastic's CloudTrail integration: the same names get the
// same ECS categorisation, so Elastic's detection rules that filter on event.category match
// siemscore documents too. Every other event is type [info] with no category, as there.
var categories = map[string]categorization{
	"AssumeRole":   {catAuthentication, typeInfo},
	"ConsoleLogin": {catAuthentication, typeInfo},

	"CreateBucket": {catFile, typeCreation},
	"DeleteBucket": {catFile, typeDeletion},

	"AttachUserPolicy":                   {catIAM, typeUserChange},
	"ChangePassword":                     {catIAM, typeUserChange},
	"CreateAccessKey":                    {catIAM, typeUserChange},
	"CreateVirtualMFADevice":             {catIAM, typeUserChange},
	"DeactivateMFADevice":                {catIAM, typeUserChange},
	"DeleteAccessKey":                    {catIAM, typeUserChange},
	"DeleteSSHPublicKey":                 {catIAM, typeUserChange},
	"DeleteUserPermissionsBoundary":      {catIAM, typeUserChange},
	"DeleteUserPolicy":                   {catIAM, typeUserChange},
	"DeleteVirtualMFADevice":             {catIAM, typeUserChange},
	"DetachUserPolicy":                   {catIAM, typeUserChange},
	"EnableMFADevice":                    {catIAM, typeUserChange},
	"PutUserPermissionsBoundary":         {catIAM, typeUserChange},
	"PutUserPolicy":                      {catIAM, typeUserChange},
	"TagUser":                            {catIAM, typeUserChange},
	"UntagUser":                          {catIAM, typeUserChange},
	"UpdateAccessKey":                    {catIAM, typeUserChange},
	"UpdateLoginProfile":                 {catIAM, typeUserChange},
	"UpdateSSHPublicKey":                 {catIAM, typeUserChange},
	"UpdateUser":                         {catIAM, typeUserChange},
	"CreateUser":                         {catIAM, typeUserCreation},
	"DeleteUser":                         {catIAM, typeUserDeletion},
	"GetUser":                            {catIAM, typeUserInfo},
	"GetUserPolicy":                      {catIAM, typeUserInfo},
	"ListAttachedUserPolicies":           {catIAM, typeUserInfo},
	"ListGroupsForUser":                  {catIAM, typeUserInfo},
	"ListUserPolicies":                   {catIAM, typeUserInfo},
	"ListUserTags":                       {catIAM, typeUserInfo},
	"ListUsers":                          {catIAM, typeUserInfo},
	"AddUserToGroup":                     {catIAM, typeGroupChange},
	"AttachGroupPolicy":                  {catIAM, typeGroupChange},
	"DeleteGroupPolicy":                  {catIAM, typeGroupChange},
	"DetachGroupPolicy":                  {catIAM, typeGroupChange},
	"PutGroupPolicy":                     {catIAM, typeGroupChange},
	"RemoveUserFromGroup":                {catIAM, typeGroupChange},
	"UpdateGroup":                        {catIAM, typeGroupChange},
	"CreateGroup":                        {catIAM, typeGroupCreation},
	"DeleteGroup":                        {catIAM, typeGroupDeletion},
	"GetGroup":                           {catIAM, typeGroupInfo},
	"GetGroupPolicy":                     {catIAM, typeGroupInfo},
	"ListAttachedGroupPolicies":          {catIAM, typeGroupInfo},
	"ListGroupPolicies":                  {catIAM, typeGroupInfo},
	"ListGroups":                         {catIAM, typeGroupInfo},
	"SetDefaultPolicyVersion":            {catIAM, typeAdminChange},
	"SetSecurityTokenServicePreferences": {catIAM, typeAdminChange},
	"UpdateAccountPasswordPolicy":        {catIAM, typeAdminChange},
	"UpdateRole":                         {catIAM, typeAdminChange},
	"CreateKeyPair":                      {catIAM, typeAdminCreation},
}

// categorize returns the ECS categorisation of eventName.
func categorize(eventName string) categorization {
	if c, ok := categories[eventName]; ok {
		return c
	}
	return categorization{typ: typeInfo}
}
