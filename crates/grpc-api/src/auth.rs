//! The `etcdserverpb.Auth` service, before authentication exists on this server (issue:
//! security): `Authenticate` answers etcd's `etcdserver: authentication is not enabled`, which
//! clients (clientv3, etcdctl `--user`) treat as "no token needed", exactly as with an etcd
//! whose auth is disabled. User/role management answers `Unimplemented`.

use etcd_proto::etcdserverpb::{auth_server::Auth, *};
use tonic::{Request, Response, Status};

use crate::errors::EtcdError;
use crate::unimplemented;

#[derive(Default)]
pub struct AuthService;

/// Generates the service impl: `authenticate` plus the RPCs that are not served yet.
/// (A macro around the whole impl, so `async_trait` sees the expanded methods.)
macro_rules! auth_service {
    ($($method:ident($req:ty) -> $resp:ty;)*) => {
        #[tonic::async_trait]
        impl Auth for AuthService {
            async fn authenticate(
                &self,
                _: Request<AuthenticateRequest>,
            ) -> Result<Response<AuthenticateResponse>, Status> {
                Err(EtcdError::AuthNotEnabled.into())
            }
            $(
                async fn $method(&self, _: Request<$req>) -> Result<Response<$resp>, Status> {
                    Err(unimplemented(stringify!($method)))
                }
            )*
        }
    };
}

auth_service! {
    auth_enable(AuthEnableRequest) -> AuthEnableResponse;
    auth_disable(AuthDisableRequest) -> AuthDisableResponse;
    user_add(AuthUserAddRequest) -> AuthUserAddResponse;
    user_get(AuthUserGetRequest) -> AuthUserGetResponse;
    user_list(AuthUserListRequest) -> AuthUserListResponse;
    user_delete(AuthUserDeleteRequest) -> AuthUserDeleteResponse;
    user_change_password(AuthUserChangePasswordRequest) -> AuthUserChangePasswordResponse;
    user_grant_role(AuthUserGrantRoleRequest) -> AuthUserGrantRoleResponse;
    user_revoke_role(AuthUserRevokeRoleRequest) -> AuthUserRevokeRoleResponse;
    role_add(AuthRoleAddRequest) -> AuthRoleAddResponse;
    role_get(AuthRoleGetRequest) -> AuthRoleGetResponse;
    role_list(AuthRoleListRequest) -> AuthRoleListResponse;
    role_delete(AuthRoleDeleteRequest) -> AuthRoleDeleteResponse;
    role_grant_permission(AuthRoleGrantPermissionRequest) -> AuthRoleGrantPermissionResponse;
    role_revoke_permission(AuthRoleRevokePermissionRequest) -> AuthRoleRevokePermissionResponse;
}
